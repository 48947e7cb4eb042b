"""The report's choices that the command line lists, importable without the plotting stack."""

from typing import Literal, get_args

# auto: UMAP, with PCA for few points or without umap-learn; umap; pca (docs/report.md)
EmbeddingMethod = Literal["auto", "umap", "pca"]
EMBEDDING_METHODS: tuple[str, ...] = get_args(EmbeddingMethod)
