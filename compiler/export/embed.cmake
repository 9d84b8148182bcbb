# embed.cmake — a text file as a C string: cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -P embed.cmake
# (the PyTorch exporter's shared Python, kept as a real .py file in the source tree).
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
get_filename_component(name ${IN} NAME)
file(WRITE ${OUT} "/* generated from ${name} by embed.cmake */\nconst char ${NAME}[] = {${hex} 0};\n")
