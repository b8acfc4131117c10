from octotui.cli import main

raise SystemExit(main())
