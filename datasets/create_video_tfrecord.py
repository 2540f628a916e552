"""`python -m datasets.create_video_tfrecord`: see film_tf/datasets/video.py for flags and layout."""

from film_tf.datasets.video import run_main

if __name__ == "__main__":
    run_main()
