/** The environment variable that names the folder of the Fashion-MNIST IDX files. */
export const FASHION_MNIST_DIR_VARIABLE = 'FASHION_MNIST_DIR';

/** Where Debian's dataset-fashion-mnist package puts them, the folder read when the variable is unset. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
