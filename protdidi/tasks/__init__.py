"""Training tasks driven by `protdidi.trainer.Trainer`."""
