from protdidi.cli import main

main()
