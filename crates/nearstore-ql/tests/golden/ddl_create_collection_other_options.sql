CREATE COLLECTION docs (metric = euclidean, dimension = 3, quantization = 'sq8', ef_search = 64) WITH (durability = 'fsync', replicas = 1)
