from wsdiag.cli.main import main

main()
