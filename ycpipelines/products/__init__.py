"""产品 Products: one module per scenario; manifests live in assets/products/."""
