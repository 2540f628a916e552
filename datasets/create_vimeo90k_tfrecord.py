"""`python -m datasets.create_vimeo90k_tfrecord`: see film_tf/datasets/vimeo90k.py for flags and layout."""

from film_tf.datasets.vimeo90k import run_main

if __name__ == "__main__":
    run_main()
