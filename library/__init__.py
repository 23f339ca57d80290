"""The demo library, served live through res_bridge."""
