"""seaweed-apt's Kedro package: orchestration only; the work lives in `seaweed_apt`."""
