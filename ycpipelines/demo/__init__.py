"""Demo source systems that look like Yinchuan's bureaus (演示数据源), generated from a seed."""
