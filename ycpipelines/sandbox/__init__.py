"""数据可用不可见 Sandbox: differentially private aggregates and private set intersection."""
