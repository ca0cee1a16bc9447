"""asv benchmarks of fastgmm; see ``asv_benchmarks/asv.conf.json``."""
