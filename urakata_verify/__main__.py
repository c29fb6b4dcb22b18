import sys

from urakata_verify import main

sys.exit(main())
