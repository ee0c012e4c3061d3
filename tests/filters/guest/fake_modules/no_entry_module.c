/* A shared object that is no filter module: it lacks the entry point. */
__attribute__((visibility("default"))) int not_a_filter_module(void) {
    return 42;
}
