/* A shared object without weft_plugin_init: refused as "no entry point". */
int noentry_unused(void);
int noentry_unused(void)
{
    return 0;
}
