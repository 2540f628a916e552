"""Data: the FILM TFRecord triplet format and the training/eval input pipelines."""
