"""Model families (sd1, sd2, sdxl; flux later), each a module that registers itself."""
