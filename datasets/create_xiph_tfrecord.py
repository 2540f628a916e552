"""`python -m datasets.create_xiph_tfrecord`: see film_tf/datasets/xiph.py for flags and layout."""

from film_tf.datasets.xiph import run_main

if __name__ == "__main__":
    run_main()
