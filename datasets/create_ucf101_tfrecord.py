"""`python -m datasets.create_ucf101_tfrecord`: see film_tf/datasets/ucf101.py for flags and layout."""

from film_tf.datasets.ucf101 import run_main

if __name__ == "__main__":
    run_main()
