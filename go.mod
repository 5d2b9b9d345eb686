module mediagate

go 1.26.8
