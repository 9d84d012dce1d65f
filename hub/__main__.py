"""``python -m hub …`` runs the hub commands (as ``muster hub …`` does)."""

import logging
import os
import sys

from hub.cli import main

logging.basicConfig(
    level=os.environ.get("MUSTER_LOG_LEVEL", "WARNING"),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
sys.exit(main())
