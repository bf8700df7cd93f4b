"""The foundation (基础层): what every stage shares and no stage owns — settings, layers and asset
keys, partitions, the lake, masking, quarantine and feedback records, private files."""
