"""What the experiment grid can name: the blocks, the 2-D data sets, MNIST's files.

Torch-free, so the workflow parses and checks a config without the training stack; the modules
that build these things (blocks, data, mnist) take their names from here.
"""

ARCHS = ("MS1", "MS2", "MS3", "H1", "H2", "FC")
# Blocks that split the state into halves [y; z] (H1's J is built from n/2 × n/2 blocks).
SPLIT_ARCHS = ("MS1", "MS3", "H1")

DATASETS = ("swiss_roll", "double_moons")

# MNIST's four IDX files, as torchvision names them in <root>/MNIST/raw/.
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
