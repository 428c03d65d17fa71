"""What learning agents and trained policies share between training and deployment: observation features
(``features``), action maps (``action_map``), the model directory's files (``model_dir``) and the actors that load
a trained model and act with it (``sb3_actor``, ``rllib_actor``, ``torchrl_actor``). Envs, training and the
trained-policy controller all import from here, so none of them imports another."""
