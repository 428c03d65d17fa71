"""What trained policies share between training and deployment (network layouts, loading, actions)."""
