"""`python -m datasets.create_synthetic_motion_tfrecord`: see film_tf/datasets/synthetic_motion.py for flags."""

from film_tf.datasets.synthetic_motion import run_main

if __name__ == "__main__":
    run_main()
