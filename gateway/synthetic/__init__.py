"""Synthetic material for demos, tests and benchmarks, pure and deterministic by seed: the
providers' invented datasets (:mod:`~gateway.synthetic.datasets`) and a plan of requester
traffic over the shipped agreements (:mod:`~gateway.synthetic.traffic`)."""
