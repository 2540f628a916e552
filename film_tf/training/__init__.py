"""FILM training: the tf.distribute loop, schedules, summaries and checkpoints."""
