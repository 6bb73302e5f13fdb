"""Flow: how work moved through each lane (history, metrics, a cumulative flow diagram) and when waiting
work will start and finish, as calibrated Monte Carlo ranges.

``history`` folds capacity's decisions into one passage per request; ``metrics`` reads flow figures off
the passages; ``forecast`` samples each lane's own throughput; ``calibration`` back-tests the forecaster
on the history; ``watch`` turns forecasts and ages into events; ``store``, ``charts`` and ``api`` serve
them. ``history``, ``metrics``, ``forecast``, ``calibration`` and ``watch`` are pure.
"""
