"""Test setup: the device is lavapipe (software Vulkan) on machines without a GPU; XDG_RUNTIME_DIR quiets its
warning."""

import os

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
