"""`python -m datasets.create_middlebury_tfrecord`: see film_tf/datasets/middlebury.py for flags and layout."""

from film_tf.datasets.middlebury import run_main

if __name__ == "__main__":
    run_main()
