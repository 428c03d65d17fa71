"""Training learning agents: SB3 PPO with parameter sharing (extra `rl`); evaluation on held-out days."""
