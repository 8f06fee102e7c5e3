from diffsal.cli import main

raise SystemExit(main())
