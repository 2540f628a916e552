"""film_tf: FILM frame interpolation in TensorFlow / Keras 3."""

from setuptools import find_namespace_packages, setup

setup(
    name="film_tf",
    version="0.1.0",
    description="FILM (Frame Interpolation for Large Motion) in TensorFlow / Keras 3",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # Only film_tf is installed: the top-level datasets/ and eval/ folders hold
    # thin binaries that must not shadow other packages of those names. Namespace
    # discovery also lists the data folders (film_tf.assets, film_tf.assets.examples)
    # as packages, as setuptools wants (else a warning per folder at every build).
    packages=find_namespace_packages(include=["film_tf", "film_tf.*"], exclude=["*.__pycache__"]),
    package_data={"film_tf.assets": ["*.json", "*.h5"], "film_tf.assets.examples": ["*"]},
    include_package_data=True,
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "gin-config>=0.5",
        "absl-py",
        "numpy",
        "pillow",
        "mediapy",
        # imageio-ffmpeg 0.7+ bundles an ffmpeg that rejects mediapy's -vsync.
        "imageio-ffmpeg>=0.5,<0.7",
        "tqdm",
        "opencv-python-headless",
        "scipy",  # reads the MatConvNet VGG-19 file
    ],
    extras_require={
        # The test extra includes [hub]: the handle tests serve models from 127.0.0.1.
        "test": [
            "pytest",
            "pytest-xdist",
            "scikit-video",
            "scikit-image",
            "ruff",
            "tensorflow-hub>=0.16",
            "huggingface_hub>=0.23",
            # Reads film-export's TF Serving warm-up records back with TF Serving's
            # own messages (film_tf writes them without it: it pins the newest TF).
            "tensorflow-serving-api",
        ],
        "jax": ["jax[cpu]"],
        # Released models by handle (--model_path film-style, TF Hub URLs, hf://).
        "hub": ["tensorflow-hub>=0.16", "huggingface_hub>=0.23"],
        # Dataset builders and batch evaluation on any Beam runner.
        "beam": ["apache-beam>=2.60"],
        # ONNX export (tf2onnx converts the TF graph) and its runtime.
        "onnx": ["onnx", "onnxruntime", "tf2onnx"],
        # LiteRT (TFLite) interpreter for exported .tflite files.
        "litert": ["ai-edge-litert"],
        # film-app, the local web page; playwright drives Debian's chromium in its tests.
        "app": ["gradio>=5"],
        "browser-test": ["playwright"],
    },
    entry_points={
        "console_scripts": [
            "film-train=film_tf.train:run_main",
            "film-export=film_tf.export:run_main",
            "film-eval=film_tf.evaluation.eval_cli:run_main",
            "film-interpolate=film_tf.cli.interpolate:run_main",
            "film-interpolate-frames=film_tf.cli.interpolate_frames:run_main",
            "film-create-vimeo90k-tfrecord=film_tf.datasets.vimeo90k:run_main",
            "film-create-middlebury-tfrecord=film_tf.datasets.middlebury:run_main",
            "film-create-ucf101-tfrecord=film_tf.datasets.ucf101:run_main",
            "film-create-xiph-tfrecord=film_tf.datasets.xiph:run_main",
            "film-create-video-tfrecord=film_tf.datasets.video:run_main",
            "film-create-synthetic-motion-tfrecord=film_tf.datasets.synthetic_motion:run_main",
            "film-app=film_tf.app.cli:run_main",
        ]
    },
)
