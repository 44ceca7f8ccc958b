from digiskill.cli.main import main

main()
