// The module's functions, listed once: X(name, kind) for anne.NAME, the C
// object anne_NAME_obj (defined with MP_DEFINE_CONST_FUN_OBJ_<kind>, kind
// 1, 3, KW or VAR_BETWEEN). This list makes the firmware's ROM table
// (modanne.c), the objects' declarations (anne_glue.h) and the native
// module's globals (natmod/anne_natmod.c's mpy_init; natmod/Makefile writes
// their MP_QSTR_ names out for mpy_ld, which finds a native module's qstrs by
// reading its sources). tests/host's test_natmod checks that both modules
// hold the same names. (The Rust symbols that micropython.mk's linker flags
// name are the anne.h functions the glue files call.)
#ifndef ANNE_FUNCTIONS_H
#define ANNE_FUNCTIONS_H

// ANNE_TRAIN=0 leaves the training functions out (the module then runs
// networks only; anne_net trains them on its pure-Python backend).
#ifndef ANNE_TRAIN
#define ANNE_TRAIN 1
#endif

// mod_kernels.c, mod_plan.c
#define ANNE_INFERENCE_FUNCTIONS(X) X(dense, KW) X(activate, KW) X(forward, 3) X(argmax, 1) X(merge, VAR_BETWEEN)

// anne.act_table (mod_train.c: net.quantize's int8 tables) comes with the
// training functions, but for the armv6m anne.mpy (natmod/Makefile: its
// double-precision exp in software costs about 6.5 KB there).
#ifndef ANNE_ACT_TABLE
#define ANNE_ACT_TABLE ANNE_TRAIN
#endif
#if ANNE_ACT_TABLE
#define ANNE_ACT_TABLE_FUNCTIONS(X) X(act_table, VAR_BETWEEN)
#else
#define ANNE_ACT_TABLE_FUNCTIONS(X)
#endif

// mod_train.c
#if ANNE_TRAIN
#define ANNE_TRAIN_FUNCTIONS(X) X(activation_backward, KW) X(dense_backward, VAR_BETWEEN) \
    X(layer_backward, VAR_BETWEEN) X(sgd, VAR_BETWEEN) X(adam, VAR_BETWEEN) \
    X(fit_workspace, 3) X(fit_epoch, VAR_BETWEEN) ANNE_ACT_TABLE_FUNCTIONS(X)
#else
#define ANNE_TRAIN_FUNCTIONS(X)
#endif

#define ANNE_MODULE_FUNCTIONS(X) ANNE_INFERENCE_FUNCTIONS(X) ANNE_TRAIN_FUNCTIONS(X)

#endif // ANNE_FUNCTIONS_H
