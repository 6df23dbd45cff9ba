TRAIN QUANTIZER ON docs WITH (m = 8, k = 256, type = 'pq')
