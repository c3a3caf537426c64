"""The project's own fake LTI Pro server (DESIGN.md "The simulator").

A real HTTP server on loopback, so the importer is exercised through its real HTTP
client, retries and timeouts rather than through mocks.
"""

from .app import create_app
from .config import DEMO_KEY, DEMO_SECRET, SimConfig, demo_config
from .server import SimulatorServer
from .state import SimState

__all__ = [
    "DEMO_KEY",
    "DEMO_SECRET",
    "SimConfig",
    "SimState",
    "SimulatorServer",
    "create_app",
    "demo_config",
]
