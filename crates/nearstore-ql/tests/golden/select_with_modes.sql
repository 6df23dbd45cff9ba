SELECT * FROM docs WHERE vector NEAR $v WITH (mode = 'perfect') USING FUSION (strategy = 'rsf', dense_w = 0.5, sparse_w = 0.5)
