"""The project's own fake LTI Pro server, with a fake Canvas and a fake Zoom REST API (DESIGN.md
"The simulator").

A real HTTP server on loopback, so the importer is exercised through its real HTTP
client, retries and timeouts rather than through mocks.
"""

from .app import create_app
from .canvas import DEMO_CANVAS_TOKEN, CanvasCourse, CanvasTerm
from .config import (
    DEMO_KEY,
    DEMO_SECRET,
    DEMO_ZOOM_ACCOUNT_ID,
    DEMO_ZOOM_CLIENT_ID,
    DEMO_ZOOM_CLIENT_SECRET,
    SimConfig,
    demo_config,
)
from .server import SimulatorServer
from .state import SimState

__all__ = [
    "DEMO_CANVAS_TOKEN",
    "DEMO_KEY",
    "DEMO_SECRET",
    "DEMO_ZOOM_ACCOUNT_ID",
    "DEMO_ZOOM_CLIENT_ID",
    "DEMO_ZOOM_CLIENT_SECRET",
    "CanvasCourse",
    "CanvasTerm",
    "SimConfig",
    "SimState",
    "SimulatorServer",
    "create_app",
    "demo_config",
]
