/* placeholder: being written */
typedef int ik_placeholder_hsm_p11raw_c;
