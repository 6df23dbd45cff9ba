SELECT * FROM docs WHERE vector SPARSE_NEAR $sv AND vector NEAR $v USING FUSION (strategy = 'rrf')
