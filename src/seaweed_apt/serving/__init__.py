"""The one-step endpoint: request checking, the generator a replica holds, and the Ray Serve app."""
