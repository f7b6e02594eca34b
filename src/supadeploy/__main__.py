from supadeploy.cli import main

main()
