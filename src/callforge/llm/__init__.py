"""Everything that talks to a model: the Backend protocol, backends, tool-call parsing, the cache."""
