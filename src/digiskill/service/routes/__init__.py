"""The HTTP endpoints: ``public`` (health, issuer, verify), ``citizen`` (by invitation code) and ``staff`` (bearer
tokens with a role). Every route that needs a role declares it in ``openapi_extra["x-roles"]``."""
