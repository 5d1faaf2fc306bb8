from searchsvc.cli import main

raise SystemExit(main())
