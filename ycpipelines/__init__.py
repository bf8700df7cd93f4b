"""ycpipelines: pipelines-as-code for public data authorized operation (公共数据授权运营)."""
