/* placeholder: being written */
typedef int ik_placeholder_hsm_hsm_c;
